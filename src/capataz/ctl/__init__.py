"""capataz.ctl"""
