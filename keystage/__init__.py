"""Keystage: the local authority's education data hub."""
