"""The Messenger sandbox: a stand-in for Meta's Graph API and webhooks (DESIGN.md, "Sandbox")."""

from .app import create_sandbox_app, mount_redirect

__all__ = ["create_sandbox_app", "mount_redirect"]
