"""Readers and writers for the files Keystage exchanges; plain Python, no Django."""
