"""Benchmarks of capataz against supervisord and the Python job queues.

``python -m bench`` installs the peers into ``bench/.venv``, runs the selected
scenarios for capataz and each peer in alternating runs, and writes a Markdown
results file under ``bench/results/``. Nothing here is imported by ``src/``.
"""
