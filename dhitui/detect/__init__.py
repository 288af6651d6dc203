"""Hardened / shell-less detection: which containers have a shell, who they run as, where
their image comes from, and the verdict with its evidence — without running anything in them.

`rules` holds the pure judgement; `probe` finds the facts (path stats, cached per image).
"""

from dhitui.detect.probe import Classifier, ImageFacts, list_summaries, summary_from_api

__all__ = ["Classifier", "ImageFacts", "list_summaries", "summary_from_api"]
