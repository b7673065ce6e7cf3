"""This host's Docker engine through the docker SDK, with its errors wrapped.

Every SDK call of the kit runs inside :func:`engine_errors`: what the SDK raises
(``docker.errors.*``, and the ``requests`` errors under it, which are ``OSError``
subclasses, when the engine does not answer) becomes an
:class:`~workshop.errors.EngineError` that names what the kit was doing and the fix.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager

import docker
import docker.errors

from workshop.errors import EngineError

__all__ = ["START_ENGINE", "engine_client", "engine_errors"]

#: What to do when no engine answers.
START_ENGINE = (
    "Start the Docker engine with `scripts/engine.sh start` (`make setup` installs one), "
    "then try again."
)
_NO_ACCESS = (
    "This user may not use the engine's socket: add it to the `docker` group "
    "(`sudo usermod -aG docker $USER`, then log in again), or run as root."
)
_SLOW = "The engine may be busy: try again; `scripts/engine.sh status` says whether it answers."
_REFUSED = "The engine's answer says why; `workshop doctor` checks this host."
_DISK_FULL = "The engine's disk is full: free space (`docker system prune`), then try again."


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost exception under ``exc`` (its causes, and urllib3's wrapped reasons)."""
    seen: set[int] = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        inner = exc.__cause__ or exc.__context__
        if inner is None:
            inner = next((a for a in exc.args if isinstance(a, BaseException)), None)
        if inner is None:
            break
        exc = inner
    return exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def _unanswered(action: str, exc: BaseException) -> EngineError:
    """The error for an engine that could not be reached, or did not answer in time."""
    cause = _root_cause(exc)
    if isinstance(cause, TimeoutError):
        return EngineError(action, "the Docker engine did not answer in time", hint=_SLOW)
    code = cause.errno if isinstance(cause, OSError) else None
    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    reason = f"the Docker engine at {where} does not answer ({_first_line(cause)})"
    return EngineError(action, reason, hint=_NO_ACCESS if code == errno.EACCES else START_ENGINE)


@contextmanager
def engine_errors(action: str) -> Iterator[None]:
    """Turn the docker SDK's errors inside the block into :class:`EngineError`.

    Args:
        action: What the block does, for the message (``"removing lab wsdev's containers"``).

    Raises:
        EngineError: The engine refused a request, or does not answer.
    """
    try:
        yield
    except docker.errors.APIError as exc:  # the engine answered with an error
        said = str(exc.explanation or exc).strip()
        hint = _DISK_FULL if "no space left on device" in said.lower() else _REFUSED
        raise EngineError(action, f"the Docker engine refused: {said}", hint=hint) from exc
    except (docker.errors.DockerException, OSError) as exc:
        raise _unanswered(action, exc) from exc


def engine_client(timeout: int = 60) -> docker.DockerClient:
    """A client of this host's engine (``DOCKER_HOST``, else the default socket).

    Args:
        timeout: Seconds one API call may take.

    Raises:
        EngineError: No engine answers (the client asks for its API version first).
    """
    with engine_errors("connecting to the Docker engine"):
        return docker.from_env(timeout=timeout)
