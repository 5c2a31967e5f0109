"""capataz.queue"""
