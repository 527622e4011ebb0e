"""`watchparty create-admin --email E`: safe to run twice."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import re

from watchparty.cli.serve import use_running_embedded_redis
from watchparty.config import get_settings
from watchparty.core.deps import Services
from watchparty.core.migrate import upgrade_to_head
from watchparty.models import UserRole
from watchparty.users import passwords
from watchparty.users import service as users_service


def run(args: argparse.Namespace) -> int:
    use_running_embedded_redis()
    settings = get_settings()
    upgrade_to_head(settings)
    return asyncio.run(_create_admin(args.email, args.username))


async def _create_admin(email: str, username: str | None) -> int:
    services = Services.build(get_settings())
    try:
        async with services.db.session() as session:
            user = await users_service.get_user_by_email(session, email)
            if user is not None:
                await users_service.set_role(session, user.id, UserRole.ADMIN)
                print(f"{user.email} is now an administrator")
                return 0
            password = _password(services)
            name = username or _username_from(email)
            problem = passwords.problem_with(password, username=name, email=email)
            if problem is not None:  # the same policy as every account's (users/passwords.py)
                print(f"WATCHPARTY_ADMIN_PASSWORD is refused: {problem}")
                return 2
            await users_service.create_user(
                session,
                email=email,
                username=name,
                password_hash=await services.hasher.hash(password),
                role=UserRole.ADMIN,
            )
            print(f"created administrator {email} (username {name})")
        return 0
    finally:
        await services.close()


def _password(services: Services) -> str:
    secret = services.settings.watchparty_admin_password
    if secret is not None:
        return secret.get_secret_value()
    return getpass.getpass("Password for the new administrator: ")


def _username_from(email: str) -> str:
    local = re.sub(r"[^\w.-]", "", email.split("@", 1)[0])[:32]
    return local if len(local) >= 3 else f"admin-{local}"[:32]
