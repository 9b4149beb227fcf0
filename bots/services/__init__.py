"""Bot services: the only code that changes flows, sessions and variant counts.

- flows: draft, publish, export, import (bots.services.flows)
- the engine: bot_session_start / bot_session_advance (bots.services.engine, its step
  in engine_step, engine_endings, engine_base; answers read in engine_answers)
- variants: Thompson sampling (bots.services.variants)
- lead capture: customer_attributes_store (bots.services.leads)
"""

from bots.services.engine import bot_session_advance, bot_session_hand_off, bot_session_start
from bots.services.engine_answers import validate_input
from bots.services.flows import (
    FlowInvalid,
    flow_create,
    flow_document_load,
    flow_draft_save,
    flow_export,
    flow_import,
    flow_publish,
    flow_validate,
)
from bots.services.leads import customer_attributes_store
from bots.services.variants import thompson_choose, variant_pick, variants_convert

__all__ = [
    "FlowInvalid",
    "bot_session_advance",
    "bot_session_hand_off",
    "bot_session_start",
    "customer_attributes_store",
    "flow_create",
    "flow_document_load",
    "flow_draft_save",
    "flow_export",
    "flow_import",
    "flow_publish",
    "flow_validate",
    "thompson_choose",
    "validate_input",
    "variant_pick",
    "variants_convert",
]
