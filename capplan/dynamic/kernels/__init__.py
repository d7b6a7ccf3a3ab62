"""The compiled (numba) code of the dynamic simulation, one module per job.

=================  =======================================================================
``hostupdate``     a host update: allocation, utilisation, SPECpower, interval energy
``round``          one CloudSim consolidation round in one pass
``search``         the PABFD host search (initial placement)
``lrexact``        CloudSim's own LR decision for values on the 1.0 boundary
``correlation``    the MC selection's R² (commons-math's QR)
``javarandom``     ``java.util.Random``'s ``nextInt`` for the RS selection
``sla``            the SLA record folds
=================  =======================================================================

Each is held by tests to a numpy or pure-Python reference (:mod:`capplan.dynamic.reference`,
:mod:`capplan.dynamic.detection`, :mod:`capplan.dynamic.selection`).
"""
