"""capataz.queue.backends"""
