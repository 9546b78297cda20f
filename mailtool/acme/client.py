"""One ACME issuance (RFC 8555 §7): account, order, http-01 challenges, finalize.

Synchronous (the ``acme`` package uses requests): the manager runs it in a thread.
The JWS signing, nonces (and badNonce retries, §6.5) and polling are the ``acme``
package's, the library certbot is built on; only the flow is ours.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mailtool.errors import MailtoolError

#: seconds one order may take from new-order to the certificate
ORDER_DEADLINE = 120
USER_AGENT = "mailtool (acme-python)"


class AcmeError(MailtoolError):
    """The CA refused or failed an issuance; ``failed_names`` are the identifiers whose
    authorization came back invalid (their DNS does not point here, usually)."""

    def __init__(self, message: str, failed_names: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.failed_names = list(failed_names)


@dataclass(frozen=True)
class Issued:
    fullchain_pem: str
    key_pem: bytes


def load_or_create_account_key(path: Path) -> bytes:
    """The account's private key (PEM), created 0600 on first use."""
    if path.exists():
        return path.read_bytes()
    pem = new_key()
    write_private(path, pem)
    return pem


def new_key() -> bytes:
    """A fresh ECDSA P-256 key (PEM, PKCS#8): the account's, or a certificate's."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())  # fmt: skip


def write_private(path: Path, data: bytes) -> None:
    """tmp file 0600 -> fsync -> rename (DESIGN principles 1 and 7)."""
    import os

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def issue(
    directory_url: str,
    names: Sequence[str],
    *,
    account_key_pem: bytes,
    email: str,
    publish: Callable[[str, str, str], None],
    withdraw: Callable[[str, str], None],
    challenge_type: str = "http-01",
    cafile: str = "",
) -> Issued:
    """Get a certificate for ``names`` (the first is the subject) by ``challenge_type``.

    ``publish(name, token, key_authorization)`` must make the challenge answerable before
    it is answered: http-01, ``http://NAME/.well-known/acme-challenge/TOKEN`` answers the
    key authorization (RFC 8555 §8.3); tls-alpn-01, port 443 presents the challenge
    certificate for NAME (RFC 8737 §3). ``withdraw(name, token)`` follows, always.
    """
    import josepy as jose
    from acme import challenges, crypto_util, errors, messages
    from acme.client import ClientNetwork, ClientV2
    from cryptography.hazmat.primitives import serialization

    from mailtool.acme.alpn import register_challenge

    wanted = challenges.HTTP01 if challenge_type == "http-01" else register_challenge()

    account_key = jose.JWKEC(key=serialization.load_pem_private_key(account_key_pem, None))
    # verify_ssl is handed to requests as ``verify``: a CA file path is what it takes
    net = ClientNetwork(account_key, alg=jose.ES256, user_agent=USER_AGENT,
                        verify_ssl=cafile or True)  # type: ignore[arg-type]  # fmt: skip
    try:
        client = ClientV2(ClientV2.get_directory(directory_url, net), net)
        contact = (f"mailto:{email}",) if email else ()
        registration = messages.NewRegistration.from_data(
            email=email or None, terms_of_service_agreed=True
        ) if contact else messages.NewRegistration(terms_of_service_agreed=True)  # fmt: skip
        try:
            client.new_account(registration)
        except errors.ConflictError as exc:  # RFC 8555 §7.3.1: this key has an account
            net.account = messages.RegistrationResource(
                uri=exc.location, body=messages.Registration()
            )
        key_pem = new_key()  # a new key at every issuance
        csr_pem = crypto_util.make_csr(key_pem, list(names))
        order = client.new_order(csr_pem)
        published: list[tuple[str, str]] = []
        try:
            for authz in order.authorizations:
                if authz.body.status == messages.STATUS_VALID:
                    continue  # §7.1.4: an authorization the CA reuses
                name = authz.body.identifier.value
                challenge = next((c for c in authz.body.challenges
                                  if isinstance(c.chall, wanted)), None)  # fmt: skip
                if challenge is None:
                    raise AcmeError(f"the CA offers no {challenge_type} for {name}")
                response, validation = challenge.response_and_validation(account_key)
                token = challenge.chall.encode("token")
                publish(name, token, validation)
                published.append((name, token))
                client.answer_challenge(challenge, response)
            deadline = dt.datetime.now() + dt.timedelta(seconds=ORDER_DEADLINE)
            order = client.poll_and_finalize(order, deadline)
        finally:
            for name, token in published:
                withdraw(name, token)
        return Issued(order.fullchain_pem, key_pem)
    except errors.ValidationError as exc:
        failed = [a.body.identifier.value for a in exc.failed_authzrs]
        details = "; ".join(
            f"{a.body.identifier.value}: {c.error.detail or c.error.typ}"
            for a in exc.failed_authzrs for c in a.body.challenges if c.error is not None
        )  # fmt: skip
        raise AcmeError(f"validation failed: {details}", failed) from None
    except messages.Error as exc:
        raise AcmeError(f"the CA said: {exc}") from None
    except errors.Error as exc:
        raise AcmeError(f"ACME: {type(exc).__name__}: {exc}") from None
    except OSError as exc:  # requests' ConnectionError is an OSError
        raise AcmeError(f"cannot reach {directory_url}: {exc}") from None
    finally:
        net.session.close()
