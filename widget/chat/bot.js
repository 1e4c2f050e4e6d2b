// The bot stage: a chat on a queue with a bot talks to the bot first. A bar names the bot
// and offers "Talk to a person": the customer command request_agent, which hands the chat
// to the queue's agents (docs/protocol.md, "Bots"). The bot's messages and quick replies
// are in the transcript like an agent's.
import { element } from './elements.js';

/** The bar; `request(frame)` sends a command and resolves with its ack; `onChange()` follows the stage. */
export function botStage({ translate, request, onRefused, onChange }) {
  let name = ''; // the queue's bot, from the welcome
  let active = false;
  const label = element('span');
  const button = element('button', { cls: 'btn alt', onclick: askForPerson }, translate('talkToPerson'));
  const bar = element('div', { cls: 'botbar', hidden: true }, [label, button]);

  function render() {
    bar.hidden = !active;
    label.textContent = translate('botWith', { name: name || translate('bot') });
  }

  function setActive(on) {
    if (on !== active) {
      active = on;
      render();
      onChange();
    }
  }

  function askForPerson() {
    button.disabled = true;
    request({ type: 'request_agent' })
      .then(() => setActive(false), onRefused)
      .finally(() => {
        button.disabled = false;
      });
  }

  return {
    bar,
    get active() {
      return active;
    },
    useQueue(queue) {
      name = queue.bot_name || '';
    },
    // start_chat's ack: a chat that reaches the team now starts with its bot
    started(ack) {
      setActive(Boolean(name) && !ack.left_message && !ack.opens_at);
    },
    // the card of a chat the customer comes back to
    follow(card) {
      setActive(card.status === 'bot');
    },
    leave() {
      setActive(false);
    },
  };
}
