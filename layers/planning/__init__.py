"""Planners' loop on grid generations: drafts (copy or import, compared with the active
generation), review (submit, approve, publish at an effective time, roll back) and, from other
modules of this package, the draft's edits, lineage and the impact of publishing."""
