"""`GET /api/v1/queues/{id}/wrap-up-codes`: the codes the agent desk's wrap-up dialog offers."""

from __future__ import annotations

import httpx

CODES = [{"code": "resolved", "label": "Resolved"}, {"code": "follow_up", "label": "Needs follow-up"}]


async def test_wrap_up_codes_are_readable_by_the_agents_who_need_them(sb):
    await sb.queue("support", wrap_up_codes=CODES)
    await sb.queue("billing")
    alice = await sb.agent("alice")
    outsider = await sb.agent("olga", queues=["billing"])

    async def get(token: str, qid: str = "support") -> httpx.Response:
        return await sb.http.get(f"/api/v1/queues/{qid}/wrap-up-codes", headers={"Authorization": f"Bearer {token}"})

    answer = await get(alice)
    assert answer.status_code == 200
    assert answer.json() == {
        "queue": {"id": "support", "name": "Support"},
        "wrap_up_codes": CODES,
        # the dialog's rules (added with the after-contact work)
        "wrap_up_timeout_s": 120,
        "max_dispositions": 1,
        "wrap_up_notes": "optional",
        "default_wrap_up_code": None,
    }
    assert (await get(outsider)).status_code == 403
    assert (await get("nonsense")).status_code == 401
    assert (await sb.admin("GET", "/api/v1/queues/billing/wrap-up-codes"))["wrap_up_codes"][0]["code"] == "resolved"
    assert (await sb.http.get("/api/v1/queues/nope/wrap-up-codes")).status_code == 404

    # An agent handed a session of a queue it is not a member of (a warm transfer) may read it.
    a, _ = await sb.agent_socket(alice)
    await a.ok({"type": "set_state", "state": "available"})
    o, _ = await sb.agent_socket(outsider)
    await o.ok({"type": "set_state", "state": "available"})
    _, started = await sb.chat()
    offer = await a.expect("offer")
    await a.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await a.ok({"type": "transfer", "conversation_id": started["conversation_id"], "agent": "olga"})
    offer = await o.expect("offer", kind="transfer")
    await o.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await o.expect("conversation.assigned")
    assert (await get(outsider)).status_code == 200
