"""The wiring of flows: which node kinds, actions and data tables the IVR runs with.

The only module that names them all; the engine receives :data:`KIT` from whoever
loads flows (the server, the CLI, the tools).
"""

from __future__ import annotations

from ivr.actions import ACTIONS
from ivr.engine.kit import FlowKit
from ivr.steps.registry import KINDS
from ivr.steps.transfer import hand_to_open_queue
from ivr.tables import TABLE_MODELS

KIT = FlowKit(kinds=KINDS, actions=ACTIONS, table_models=TABLE_MODELS, hand_over=hand_to_open_queue)
