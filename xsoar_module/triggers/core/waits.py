"""How long a trigger waits, as one typed settings object handed to its session (tests pass short ones)."""

from dataclasses import dataclass

from xsoar_module.timing import LIVEAPI_RECONNECT, Backoff


@dataclass(frozen=True)
class TriggerTimings:
    """The waits every trigger session has: emitting, catching up, checking its credentials, restarting."""

    send_retry: Backoff = Backoff(first=1.0, longest=300.0)  # the platform or the storage refused an event
    catch_up_retry: Backoff = Backoff(first=5.0, longest=300.0)  # a listing (catch-up or poll) failed
    check_retry: Backoff = Backoff(first=5.0, longest=120.0)  # the credentials could not be checked
    idle_wait: float = 0.5  # the longest wait of the main loop for work before it looks at its state again
    restart_delay: float = 10.0  # after an unexpected error, before the SDK runs the trigger again
    given_up_wait: float = 120.0  # after a critical error, each wait for the platform to stop the trigger


@dataclass(frozen=True)
class LiveTimings(TriggerTimings):
    """A LiveAPI session's waits: notifications, fetches, reconnections and the catch-ups that fill their gaps."""

    startup_grace: float = 10.0  # a first catch-up then even if the LiveAPI did not connect yet
    poll_while_disconnected: float = 30.0  # catch-ups while the LiveAPI is disconnected
    safety_catch_up: float = 300.0  # catch-ups while connected, for notifications that never came
    fetch_attempts: int = 5  # fetches of a notified alert before it is given up (when no catch-up lists it)
    fetch_retry: Backoff = Backoff(first=1.0, longest=120.0)  # before a catch-up after a failed fetch
    reconnect: Backoff = LIVEAPI_RECONNECT
    stable_after: float = 60.0  # a LiveAPI connection that lived that long resets the reconnection backoff
    ping_interval: float = 20.0  # LiveAPI keepalive pings
