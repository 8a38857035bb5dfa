"""The 8D engine: decode, render, loudness, limiter, encode, analysis.

Plain DSP on numpy arrays and files: it knows nothing of jobs, AWS or the command line (the
adapters around it, ``surroundyou.task`` and ``surroundyou.cli``, do). Import the modules
themselves (``surroundyou.engine.convert``...); this package imports nothing, so naming it costs
no time.
"""
