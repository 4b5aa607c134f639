"""Model text made safe to post: nothing in it pings, links or hides more than allowed.

Everything autosolve posts is built from a model's answer, which is
untrusted: it may mention people (``@everyone``), cross-reference unrelated
issues (``#999``), hide HTML comments that pass for autosolve's marker, embed
tracking images or scripts, or leave a code fence open that swallows what
follows. :func:`make_postable` writes such text so GitHub renders it with
every mention and reference beyond what :class:`OutputRules` allows as
inline code, HTML escaped but for a few harmless tags, links only to https
and images only when allowed; :func:`shorten` fits it into a room.
"""

from autosolve.domain.postable.blocks import Postable, make_postable
from autosolve.domain.postable.fit import shorten
from autosolve.domain.postable.inline import inline_code
from autosolve.domain.postable.rules import ALLOWED_TAGS, OutputRules

__all__ = ["ALLOWED_TAGS", "OutputRules", "Postable", "inline_code", "make_postable", "shorten"]
