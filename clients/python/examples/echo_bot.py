"""An agent bot: it takes every chat offered to it, answers each customer message with an echo, and wraps
the conversation up when it ends. With `make run` going:

    .venv/bin/python clients/python/examples/echo_bot.py <the demo agent token>

then chat on http://127.0.0.1:8000/demo. Stop it with Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from switchboard_client import (
    AgentClient,
    ChatEnded,
    ConversationAssigned,
    Message,
    Offer,
    SwitchboardError,
)

log = logging.getLogger("echo_bot")


async def serve(url: str, token: str, wrap_up_code: str) -> None:
    async with AgentClient(url, token) as agent:
        await agent.set_state("available")
        log.info("%s is available at %s", agent.welcome.agent.id if agent.welcome else "the bot", url)
        async for event in agent.events():
            try:
                match event:
                    case Offer(offer_id=offer_id):
                        await agent.accept(offer_id)
                    case ConversationAssigned(conversation_id=conversation_id):
                        await agent.send_message(conversation_id, "Hello! I am the echo bot: I repeat what you write.")
                    case Message(conversation_id=conversation_id, text=str(text)) if event.sender.role == "customer":
                        await agent.send_message(conversation_id, f"You wrote: {text}")
                    case ChatEnded(conversation_id=conversation_id):
                        await agent.wrap_up(conversation_id, wrap_up_code)
            except SwitchboardError as refused:  # an offer taken by someone else, a chat that ended meanwhile
                log.warning("%s refused: %s", type(event).__name__, refused)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("token", help="the agent's token (`make run` prints the demo agent's)")
    parser.add_argument("--url", default="ws://127.0.0.1:8000", help="the Switchboard node")
    parser.add_argument("--wrap-up-code", default="resolved", help="one of the queue's wrap-up codes")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        asyncio.run(serve(args.url, args.token, args.wrap_up_code))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
