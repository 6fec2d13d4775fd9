// Words for the policy's routes and reasons (bot/policy.py), as hosts read them.
export const ROUTES = {
  psid: "in the 24-hour window", marketing_api: "Marketing Messages API", marketing_legacy: "marketing token (legacy)",
  otn: "one-time notification", tag: "message tag", utility: "utility message (template)",
  instagram: "Instagram, in the 24-hour window", instagram_comment: "Instagram private reply",
};
export const REASONS = {
  no_token: "never opted in", opted_out: "asked us to stop", token_stopped: "stopped in Messenger",
  frequency: "frequency limit", region: "region not allowed", feature_off: "feature switched off",
  unreachable: "cannot be reached", outside_window: "outside the 24-hour window", page_budget: "Page's daily budget",
  cancelled: "cancelled", already_replied: "already replied", too_old: "too old",
  template_not_approved: "template not approved", not_on_instagram: "not possible on Instagram",
  live_ended: "the live video had ended",
  comment_deleted: "comment deleted", hold_expired: "not paid in time", host: "by the host",
};
export const route = via => ROUTES[via] || via;
export const reason = r => REASONS[r] || r.replaceAll("_", " ");
