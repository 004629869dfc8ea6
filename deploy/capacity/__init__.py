"""Capacity planning: the project's measured per-core rates turned into a plan for a given audience.

``model`` is pure arithmetic (workload and rates in, a plan with every
assumption out); ``rates`` reads the shipped defaults and what benchmarks
recorded. Run as ``tubestream estimate``.
"""
