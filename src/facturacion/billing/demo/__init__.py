"""The main job a new user runs first: the seed's setup doing a day's billing for real."""
