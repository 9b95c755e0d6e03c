"""Route a validated request to the matching ``ControlBackend`` method."""

from __future__ import annotations

from pydantic import BaseModel

from hedgegridd.control.args import FlattenArgs, PauseArgs, ResumeArgs, ThrottleArgs
from hedgegridd.control.backend import ControlBackend
from hedgegridd.control.protocol import ErrorCode, ParsedRequest
from hedgegridd.errors import ControlError
from hedgegridd.strategy.handle import FlattenSide


async def dispatch(backend: ControlBackend, request: ParsedRequest, *, actor: str) -> BaseModel:
    """Await the backend method of ``request.spec`` with its typed arguments."""
    args = request.args
    match request.spec.name:
        case "status":
            return await backend.status()
        case "positions":
            return await backend.positions()
        case "orders":
            return await backend.orders()
        case "ladders":
            return await backend.ladders()
        case "pause" if isinstance(args, PauseArgs):
            return await backend.pause(args.reason, actor=actor, keep_orders=args.keep_orders)
        case "resume" if isinstance(args, ResumeArgs):
            return await backend.resume(args.reason, actor=actor)
        case "throttle" if isinstance(args, ThrottleArgs):
            return await backend.throttle(args.value, actor=actor)
        case "flatten" if isinstance(args, FlattenArgs):
            return await backend.flatten(FlattenSide(args.side.value.upper()), actor=actor)
        case "killswitch.status":
            return await backend.killswitch_status()
        case "killswitch.reset":
            return await backend.killswitch_reset(actor=actor)
        case "reload":
            return await backend.reload(actor=actor)
        case "version":
            return await backend.version()
    raise ControlError(ErrorCode.UNKNOWN_COMMAND, f"command {request.spec.name!r} is not served")
