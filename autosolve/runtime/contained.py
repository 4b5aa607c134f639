"""What the supervisor and child actors share: nothing an actor raises escapes it.

pykka stops *every* actor in the process (``ActorRegistry.stop_all()``) when a
``BaseException`` reaches an actor's loop, and reports other failures only to
its own logger. This mixin, placed before the backend's actor class, turns a
``BaseException`` into an ordinary failure of that one actor and remembers
why the actor died, so the actor's own loop wrapper can tell someone.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from autosolve.runtime.errors import Escaped

if TYPE_CHECKING:
    import pykka

    _ActorBase = pykka.Actor
    """What the mixin is always combined with (see ``*_actor_class``), for the type checker."""
else:
    _ActorBase = object

__all__ = ["Contained", "GreenletExit"]

try:
    from greenlet import GreenletExit
except ImportError:  # pragma: no cover - greenlet comes with gevent, a dependency

    class GreenletExit(BaseException):  # type: ignore[no-redef]
        """Stands in where greenlet is not installed: nothing raises it then."""


class Contained(_ActorBase):
    """Keeps any ``BaseException`` inside the actor and records the actor's crash."""

    crash: BaseException | None = None
    """The error that ended this actor, if one did (None after a normal stop)."""

    def _handle_receive(self, message: Any) -> Any:
        return self._contain(super()._handle_receive, message)

    @staticmethod
    def _contain(handle: Callable[[Any], Any], message: Any) -> Any:
        """``handle(message)``, any ``BaseException`` it raises turned into :class:`Escaped`."""
        try:
            return handle(message)
        except Exception:
            raise  # pykka: an ask's caller gets it; a tell's failure stops this actor
        except BaseException as error:
            raise Escaped(error) from error

    def on_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """pykka calls this when a told message raised: the actor is stopping."""
        if isinstance(exception_value, Escaped):
            exception_value = exception_value.error
        if self.crash is None:
            self.crash = exception_value
