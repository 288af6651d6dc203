"""Hardened / shell-less detection: which containers have a shell, who they run as, where
their image comes from, and the verdict with its evidence — without running anything in them.

Bottom up: `remotefs` reads a container's files through the archive API; `image_facts` says
what is read from an image; `facts` keeps it per image for one engine session
(`ImageFactsCache`, shared with sessions and diagnostics; `disk_cache` on disk); `listing`
parses the container list and says when a row is not enough; `rules` holds the pure
judgement; `classifier` puts them together.
"""

from dhitui.detect.classifier import Classifier
from dhitui.detect.facts import ImageFactsCache
from dhitui.detect.image_facts import ImageFacts
from dhitui.detect.listing import list_summaries, summary_from_api

__all__ = ["Classifier", "ImageFacts", "ImageFactsCache", "list_summaries", "summary_from_api"]
