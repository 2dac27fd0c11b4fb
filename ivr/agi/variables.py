"""Channel variables shared with the dialplan (``asterisk_conf/extensions.conf``).

The dialplan reads these after the AGI returns; their names live here only.
"""

from ivr.engine import port

#: ``queue`` or ``hangup``: what the dialplan does when the IVR lets go. Unset means the
#: IVR failed, and the dialplan queues the call to ``umum``.
ACTION = "PLN123_ACTION"
ACTION_QUEUE = "queue"
ACTION_HANGUP = "hangup"
#: Queue the call goes to.
QUEUE = "PLN123_QUEUE"
#: Id of the screen-pop the CSO's page shows (exported on queue events).
POP_ID = "PLN123_POP_ID"
#: Id of the call record.
CALL_ID = "PLN123_CALL_ID"
#: The moment a sandbox call runs at (``[agi] test_clock``; set by the scenario runner).
TEST_AT = "PLN123_TEST_AT"

#: Flow the dialplan runs when a caller waited ``queue_max_wait`` seconds in a queue,
#: with the queue and the pop id as AGI arguments.
CALLBACK_FLOW = "panggilan_balik"

#: AMI UserEvent names the IVR emits: the engine's call events.
EVENT_CALL_START = port.EVENT_CALL_START
EVENT_LISTEN = port.EVENT_LISTEN
EVENT_CALL_END = port.EVENT_CALL_END
