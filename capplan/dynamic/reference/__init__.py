"""The readable reference of the compiled dynamic code: a CloudSim round and the PABFD search.

Nothing in the production path imports this package; the tests hold the compiled round
(:mod:`capplan.dynamic.kernels.round`) and searches to it.
"""
