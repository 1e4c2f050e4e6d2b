"""A queue's pre-chat form (issue 20.5): the widget learns the fields from its welcome, the
server checks what start_chat brings and names the field it refuses, and every value
reaches the agent."""

from __future__ import annotations

import pytest

FIELDS = [
    {"name": "name", "label": "Your name", "required": True},
    {"name": "email", "label": "Email", "type": "email", "required": True},
    {"name": "phone", "label": "Phone", "type": "phone"},
    {"name": "product", "label": "Product", "type": "choice", "options": ["Router", "Modem"], "required": True},
    {"name": "consent", "label": "I accept the privacy notice", "type": "checkbox", "required": True},
]
GOOD = {"name": "Ada", "email": "ada@example.com", "product": "Modem", "consent": "true"}


async def test_the_welcome_carries_the_queues_form_and_the_agent_gets_every_value(sb):
    await sb.queue("support", prechat_fields=FIELDS)
    alice = await sb.available_agent("alice")
    customer, welcome = await sb.customer(queue="support")
    assert welcome["queue"] == {"id": "support", "prechat_fields": FIELDS}  # type "text" and not required: left out
    _, no_queue = await sb.customer(queue="nowhere")
    assert "queue" not in no_queue

    started = await customer.ok(
        {"type": "start_chat", "queue": "support", "attributes": {**GOOD, "phone": "+49 30 1234-5"}}
    )
    offer = await alice.expect("offer", conversation_id=started["conversation_id"])
    assert offer["attributes"] == {**GOOD, "phone": "+49 30 1234-5"}


@pytest.mark.parametrize(
    "change, field, says",
    [
        ({"name": "  "}, "name", "Your name: required"),
        ({"email": "ada@"}, "email", "Email: not an email address"),
        ({"phone": "call me"}, "phone", "Phone: not a phone number"),
        ({"product": "Toaster"}, "product", "Product: not one of the choices"),
        ({"consent": "false"}, "consent", "I accept the privacy notice: must be checked"),
        ({"consent": "yes"}, "consent", "I accept the privacy notice: must be true or false"),
    ],
)
async def test_a_wrong_value_is_refused_naming_its_field(sb, change, field, says):
    await sb.queue("support", prechat_fields=FIELDS)
    customer, _ = await sb.customer(queue="support")
    answer = await customer.request({"type": "start_chat", "queue": "support", "attributes": {**GOOD, **change}})
    assert answer["type"] == "error" and answer["code"] == "bad_request"
    assert answer["field"] == field and answer["message"] == says
    # nothing was started: the corrected form starts the chat
    await customer.ok({"type": "start_chat", "queue": "support", "attributes": GOOD})


@pytest.mark.parametrize(
    "fields, says",
    [
        ([{"name": "topic", "label": "Topic", "type": "choice"}], "a choice needs options"),
        ([{"name": "a", "label": "A", "options": ["x"]}], "only a choice has options"),
        ([{"name": "a", "label": "A"}, {"name": "a", "label": "B"}], "must not repeat a name"),
        ([{"name": "a b", "label": "A"}], "prechat_fields"),
        ([{"name": "a", "label": "A", "type": "date"}], "prechat_fields"),
    ],
)
async def test_a_bad_form_is_refused_when_the_queue_is_saved(sb, fields, says):
    answer = await sb.admin("PUT", "/api/v1/queues/q2", {"name": "Q2", "prechat_fields": fields}, expect=400)
    assert says in answer["error"]["message"]
