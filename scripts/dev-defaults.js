// Settings `npm start` gives the services when the environment leaves them unset, and which
// `npm run demo` therefore assumes. Development values only: the audit token is public here.
'use strict';

module.exports = {
  DEV_DEFAULTS: {
    // The reader named before the colon is who the audit trail records for the demo's audit queries.
    AUDIT_READER_TOKENS: 'demo-auditor:dev-only-audit-token',
    // Short enough that the demo shows a re-escalation; services default to five minutes.
    NOTIFICATION_ACK_TIMEOUT_MS: '20000',
  },
};
