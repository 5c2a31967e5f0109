"""capataz.control"""
