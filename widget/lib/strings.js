/* The words the desk and the supervisor view share (agent states, the session, the language
 * picker), in each language; each view's catalogue adds its own (see i18n.js). */

export const SHARED_STRINGS = {
  en: {
    available: 'Available',
    notReady: 'Not ready',
    offline: 'Offline',
    missedAnOfferRona: 'Missed an offer (RONA)',
    language: 'Language',
    serverUnreachable: 'The server cannot be reached. Reload the page to try again.',
    userCannotOpen: 'This user cannot open this page.',
  },
  de: {
    available: 'Verfügbar',
    notReady: 'Nicht bereit',
    offline: 'Abgemeldet',
    missedAnOfferRona: 'Angebot verpasst (RONA)',
    language: 'Sprache',
    serverUnreachable: 'Der Server ist nicht erreichbar. Laden Sie die Seite neu, um es erneut zu versuchen.',
    userCannotOpen: 'Dieser Benutzer kann diese Seite nicht öffnen.',
  },
  fr: {
    available: 'Disponible',
    notReady: 'Pas prêt',
    offline: 'Hors ligne',
    missedAnOfferRona: 'Offre manquée (RONA)',
    language: 'Langue',
    serverUnreachable: 'Le serveur est injoignable. Rechargez la page pour réessayer.',
    userCannotOpen: 'Cet utilisateur ne peut pas ouvrir cette page.',
  },
};
