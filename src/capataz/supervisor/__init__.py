"""capataz.supervisor"""
