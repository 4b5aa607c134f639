"""Everything the runtime takes from pykka beyond its public API, in one place.

pykka 4 is made to be extended: its own ``ThreadingActor`` is a subclass that
fills three hooks of :class:`pykka.Actor`. But the types those hooks speak
live in pykka's private modules, and the runtime leans on a few private
methods besides. They are all named here, with the reason, so a pykka
upgrade is checked against this one module (and the tests of both backends).

Imported from private modules:

- :class:`Envelope` (``pykka._envelope``): the item an inbox holds. A
  worker's tick puts one prebuilt envelope per timer handle into its inbox
  (``runtime/child.py``) instead of ``ActorRef.tell`` building a fresh one per
  tick, which kept one young object alive per idle worker (see BENCHMARKS.md);
  a hibernating actor's loop reads ``message`` and ``reply_to`` off each.
- :class:`ActorInbox` (``pykka._actor``): what ``Actor._create_actor_inbox``
  returns; the threading backend's supervisor gets a ``queue.SimpleQueue``,
  hibernating actors a ``HibernatingInbox`` (``backends/hibernation.py``).
- :data:`GetHookFunc` (``pykka._future``) and :data:`OptExcInfo`
  (``pykka._types``): the argument types of ``Future.set_get_hook`` and
  ``Future.set_exception``, which the gevent backend's future implements.

Private methods of :class:`pykka.Actor` the runtime overrides or calls:

- ``_create_actor_inbox()``, ``_create_future()``, ``_start_actor_loop()``:
  the backend extension points (``backends/threading.py``,
  ``backends/gevent_actor.py``, ``backends/hibernation.py``); a child is
  started by ``_start_actor_loop()`` directly, to keep it out of pykka's
  registry (``runtime/child.py``).
- ``_actor_loop()``: wrapped by the supervisor so that whatever ends it,
  even a kill from outside pykka's reach, is reported; a hibernating actor's
  is one *activation* (``backends/hibernation.py``), which calls pykka's
  ``_actor_loop_setup()`` the first time, ``_actor_loop_teardown()`` the
  last, and in between handles each message as the body of pykka's
  ``_actor_loop_running()`` does (``_handle_receive()``,
  ``_handle_failure()``, ``on_failure()``, ``_stop()``), but returns when the
  inbox is empty instead of waiting on it.
- ``_stop()``: a child's skips pykka's registry, which it was never in
  (``runtime/child.py``): unregistering took a lock and formatted two debug
  lines per child stopped.
- ``_handle_receive()``: wrapped by ``runtime/contained.py`` so that a
  ``BaseException`` fails one actor instead of making pykka stop every actor
  in the process.

And of :class:`pykka.Future`: ``_get_hook``, read by the gevent future as
pykka's own futures do.
"""

from __future__ import annotations

from pykka._actor import ActorInbox
from pykka._envelope import Envelope
from pykka._future import GetHookFunc
from pykka._types import OptExcInfo

__all__ = ["ActorInbox", "Envelope", "GetHookFunc", "OptExcInfo"]
