"""Pupil identity (pure, no Django): which pupil each dataset row is about.

`link.link_records` takes a frame of records (rows of any dataset) and the LA's known pupils with
their identifiers, and says for each record which pupil it is, by what method and with what
score, or that it starts a new pupil, or that an officer must decide (the review queue).
"""
