#!/usr/bin/env python3
"""Prepares an authenticated contract test.

Walks the purchase story through the API of the server under test, as a user
would: a customer signs up and buys FE with Incassi e pagamenti, the signed
webhook pays it, the activation email gives the panel credentials, the
temporary password is changed; an operator (created beforehand with
`attiva operator create`) logs in. Then it writes a schemathesis config:
the static one (tests/contract/schemathesis.toml) plus, for every operation
of the live OpenAPI document that has a security requirement, the
credentials of its audience and real ids for its path parameters, so that
every secured operation is exercised with valid credentials.

An operation that names a security scheme or a path parameter this script
does not know fails the run: a new operation must be wired here
(OPERATION_IDS below) when it lands.

Usage: setup.py BASE_URL MAIL_DIR STATIC_CONFIG OUTPUT_CONFIG
Environment: CONTRACT_OPERATOR, CONTRACT_OPERATOR_PASSWORD,
ATTIVA_PAYMENT_WEBHOOK_SECRETS (default: the development secret).
Only the standard library is used.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import os
import pathlib
import sys
import time
import urllib.error
import urllib.request
import uuid

PASSWORD = "una frase lunga e segreta"
PANEL_PASSWORD = "la mia nuova password del pannello"


class Api:
    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def call(
        self,
        method: str,
        path: str,
        body: object | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        expect: int | None = None,
    ) -> dict:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        if expect is not None and status != expect:
            sys.exit(f"setup.py: {method} {path} answered {status}, expected {expect}: {text}")
        return json.loads(text) if text else {}


def partita_iva(first_ten: str) -> str:
    """A valid Partita IVA: ten digits and their check digit."""
    total = 0
    for index, char in enumerate(first_ten):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return first_ten + str((10 - total % 10) % 10)


def company(piva: str) -> dict:
    return {
        "kind": "persona_giuridica",
        "denominazione": f"Contratto {piva} S.r.l.",
        "codice_fiscale": piva,
        "partita_iva": piva,
        "address": {
            "indirizzo": "Via Roma",
            "numero_civico": "1",
            "cap": "20121",
            "comune": "Milano",
            "provincia": "MI",
            "nazione": "IT",
        },
    }


def customer(api: Api, piva: str) -> str:
    mail = f"contract-{piva}@example.com"
    api.call("POST", "/v1/customers", {"email": mail, "password": PASSWORD, "holder": company(piva)}, expect=201)
    login = api.call("POST", "/v1/auth/customer/login", {"email": mail, "password": PASSWORD}, expect=200)
    return login["access_token"]


def cart_with_fe(api: Api, *, token: str | None = None, addon: bool = False) -> tuple[str, str, str]:
    """A cart with FE (and Incassi e pagamenti); returns (id, token or '', fe item id)."""
    created = api.call("POST", "/v1/carts", {"channel": "web"}, token=token, expect=201)
    cart_id, cart_token = created["id"], created.get("token", "")
    headers = {"X-Cart-Token": cart_token} if cart_token else {}
    added = api.call(
        "POST", f"/v1/carts/{cart_id}/items", {"product_code": "fe", "years": 1},
        token=token, headers=headers, expect=201,
    )
    fe = added["items"][-1]["id"]
    if addon:
        api.call(
            "POST", f"/v1/carts/{cart_id}/items",
            {"product_code": "incassi-pagamenti", "base_item_id": fe},
            token=token, headers=headers, expect=201,
        )
    return cart_id, cart_token, fe


def check_out(api: Api, token: str, cart: tuple[str, str, str], activation: str, holder: dict | None = None) -> dict:
    body: dict = {"payment_method": "card", "accept_terms": True, "activation_email": activation}
    if holder:
        body["holder"] = holder
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    if cart[1]:
        headers["X-Cart-Token"] = cart[1]
    return api.call("POST", f"/v1/carts/{cart[0]}/checkout", body, token=token, headers=headers, expect=201)


def pay(api: Api, order: dict, amount: str | None = None, outcome: str = "fulfilled") -> None:
    """The provider's signed webhook for `amount` (the total by default)."""
    secret = os.environ.get("ATTIVA_PAYMENT_WEBHOOK_SECRETS", "dev-webhook-secret").split(",")[0]
    event = {
        "id": f"evt_{uuid.uuid4().hex}",
        "type": "payment.succeeded",
        "order_number": order["number"],
        "amount": amount or order["totals"]["total"],
        "currency": "EUR",
        "provider_payment_id": f"pi_{uuid.uuid4().hex}",
    }
    raw = json.dumps(event).encode()
    stamp = str(int(time.time()))
    mac = hmac.new(secret.encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    reply = api.call("POST", "/v1/payments/webhook", raw=raw, headers={"Payment-Signature": f"t={stamp},v1={mac}"}, expect=200)
    if reply.get("outcome") != outcome:
        sys.exit(f"setup.py: the payment of {order['number']} was not {outcome}: {reply}")


def fulfilled_service(api: Api, token: str, order: dict) -> str:
    found = api.call("GET", f"/v1/orders/{order['id']}", token=token, expect=200)
    if not found.get("service_id"):
        sys.exit(f"setup.py: order {order['number']} has no service: {found}")
    return found["service_id"]


def activation_credentials(mail_dir: pathlib.Path, recipient: str) -> tuple[str, str]:
    """Polls the mail folder (with a deadline) for the activation email."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for path in sorted(mail_dir.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if recipient not in str(message.get("To", "")):
                continue
            body = message.get_body(preferencelist=("plain",))
            text = body.get_content() if body else ""
            fields = {}
            for line in text.splitlines():
                for label in ("Nome utente:", "Password temporanea:"):
                    if line.startswith(label):
                        fields[label] = line[len(label):].strip()
            if len(fields) == 2:
                return fields["Nome utente:"], fields["Password temporanea:"]
        time.sleep(0.2)
    sys.exit(f"setup.py: no activation email to {recipient} in {mail_dir} within 30 s")


def panel_session(api: Api, username: str, temporary: str) -> str:
    first = api.call("POST", "/v1/auth/panel/login", {"username": username, "password": temporary}, expect=200)
    api.call(
        "POST", "/v1/panel/password",
        {"current_password": temporary, "new_password": PANEL_PASSWORD, "new_password_confirmation": PANEL_PASSWORD},
        token=first["access_token"], expect=200,
    )
    login = api.call("POST", "/v1/auth/panel/login", {"username": username, "password": PANEL_PASSWORD}, expect=200)
    if login.get("password_change_required"):
        sys.exit(f"setup.py: the panel still asks for a password change: {login}")
    return login["access_token"]


ADDRESS = {"indirizzo": "Via Roma", "numero_civico": "1", "cap": "20121",
           "comune": "Milano", "provincia": "MI", "nazione": "IT"}
# A valid body per step of the FE configuration wizard, in order.
SETUP_STEPS = [
    ("cedente_prestatore", {"tipo_attivita": "azienda", "denominazione": "Contract S.r.l.", "sede": ADDRESS}),
    ("regime_fiscale", {"regime_fiscale": "RF01", "esigibilita_iva": "immediata"}),
    ("cassa_previdenziale", {"casse": []}),
    ("preferenze_documento", {"tipo_documento": "TD01", "prezzi": "netti"}),
    ("avvisi", {"notifiche_sdi": {"canale": "pec", "indirizzo": "contract@pec.example"},
                "fatture_ricevute": {"canale": "email", "indirizzo": "contract@example.com"}}),
]


def configure_fe(api: Api, panel_token: str) -> None:
    """The whole wizard, so the panel's operations past its gate open."""
    for step, body in SETUP_STEPS:
        api.call("PUT", f"/v1/panel/setup/steps/{step}", body, token=panel_token, expect=200)
    api.call("POST", "/v1/panel/setup/complete", token=panel_token, expect=200)


def contact(api: Api, panel_token: str, denominazione: str) -> str:
    body = {"role": "cliente", "kind": "persona_giuridica", "denominazione": denominazione,
            "partita_iva": {"paese": "IT", "codice": partita_iva("0555555555")}, "sede": ADDRESS}
    return api.call("POST", "/v1/panel/contacts", body, token=panel_token, expect=201)["id"]


def fattura(seller_piva: str) -> bytes:
    """A minimal FatturaPA 1.2 invoice (FPR12) the service's holder issued,
    with one attachment, for the invoices' id operations."""
    allegato = base64.b64encode(b"Nota allegata alla fattura.").decode()
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<p:FatturaElettronica versione="FPR12" xmlns:p="http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2">
  <FatturaElettronicaHeader>
    <DatiTrasmissione>
      <IdTrasmittente><IdPaese>IT</IdPaese><IdCodice>{seller_piva}</IdCodice></IdTrasmittente>
      <ProgressivoInvio>00001</ProgressivoInvio>
      <FormatoTrasmissione>FPR12</FormatoTrasmissione>
      <CodiceDestinatario>ABC1234</CodiceDestinatario>
    </DatiTrasmissione>
    <CedentePrestatore>
      <DatiAnagrafici>
        <IdFiscaleIVA><IdPaese>IT</IdPaese><IdCodice>{seller_piva}</IdCodice></IdFiscaleIVA>
        <Anagrafica><Denominazione>Alfa S.r.l.</Denominazione></Anagrafica>
        <RegimeFiscale>RF01</RegimeFiscale>
      </DatiAnagrafici>
      <Sede><Indirizzo>Via Roma 1</Indirizzo><CAP>20121</CAP><Comune>Milano</Comune><Provincia>MI</Provincia><Nazione>IT</Nazione></Sede>
    </CedentePrestatore>
    <CessionarioCommittente>
      <DatiAnagrafici>
        <CodiceFiscale>RSSMRA80A01H501U</CodiceFiscale>
        <Anagrafica><Nome>Mario</Nome><Cognome>Rossi</Cognome></Anagrafica>
      </DatiAnagrafici>
      <Sede><Indirizzo>Via Torino 2</Indirizzo><CAP>00184</CAP><Comune>Roma</Comune><Provincia>RM</Provincia><Nazione>IT</Nazione></Sede>
    </CessionarioCommittente>
  </FatturaElettronicaHeader>
  <FatturaElettronicaBody>
    <DatiGenerali>
      <DatiGeneraliDocumento>
        <TipoDocumento>TD01</TipoDocumento><Divisa>EUR</Divisa><Data>2025-03-01</Data><Numero>1/2025</Numero>
        <ImportoTotaleDocumento>122.00</ImportoTotaleDocumento>
      </DatiGeneraliDocumento>
    </DatiGenerali>
    <DatiBeniServizi>
      <DettaglioLinee>
        <NumeroLinea>1</NumeroLinea><Descrizione>Consulenza</Descrizione>
        <PrezzoUnitario>100.00</PrezzoUnitario><PrezzoTotale>100.00</PrezzoTotale><AliquotaIVA>22.00</AliquotaIVA>
      </DettaglioLinee>
      <DatiRiepilogo>
        <AliquotaIVA>22.00</AliquotaIVA><ImponibileImporto>100.00</ImponibileImporto><Imposta>22.00</Imposta><EsigibilitaIVA>I</EsigibilitaIVA>
      </DatiRiepilogo>
    </DatiBeniServizi>
    <DatiPagamento>
      <CondizioniPagamento>TP02</CondizioniPagamento>
      <DettaglioPagamento><ModalitaPagamento>MP05</ModalitaPagamento><ImportoPagamento>122.00</ImportoPagamento></DettaglioPagamento>
    </DatiPagamento>
    <Allegati>
      <NomeAttachment>nota.txt</NomeAttachment><FormatoAttachment>TXT</FormatoAttachment>
      <Attachment>{allegato}</Attachment>
    </Allegati>
  </FatturaElettronicaBody>
</p:FatturaElettronica>
""".encode()


def invoice(api: Api, panel_token: str, seller_piva: str) -> str:
    report = api.call("POST", "/v1/panel/invoices/import", token=panel_token, raw=fattura(seller_piva),
                      headers={"Content-Type": "application/xml"}, expect=201)
    return report["files"][0]["invoices"][0]["id"]


def toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def main() -> None:
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    base, mail_dir, static_config, output = sys.argv[1:]
    api = Api(base)
    mail_dir_path = pathlib.Path(mail_dir)

    # The customer who owns an FE with Incassi e pagamenti, and its panel user.
    piva_a, piva_b, piva_c = partita_iva("0123456789"), partita_iva("0074311015"), partita_iva("0987654321")
    customer_token = customer(api, piva_a)
    bought = check_out(api, customer_token, cart_with_fe(api, token=customer_token, addon=True), "contract-panel@example.com")
    pay(api, bought)
    service_id = fulfilled_service(api, customer_token, bought)
    panel_token = panel_session(api, *activation_credentials(mail_dir_path, "contract-panel@example.com"))
    configure_fe(api, panel_token)
    # A contact to read and change, and one to delete.
    kept_contact = contact(api, panel_token, "Cliente S.r.l.")
    deleted_contact = contact(api, panel_token, "Da Cancellare S.r.l.")
    # An imported invoice (the service's holder is its seller), with one
    # attachment.
    imported_invoice = invoice(api, panel_token, piva_a)

    # Two unpaid orders of the same customer, for another holder: one the
    # customer may cancel, one the operator registers payments on.
    cancellable = check_out(api, customer_token, cart_with_fe(api, token=customer_token), "contract-b@example.com", company(piva_b))
    payable = check_out(api, customer_token, cart_with_fe(api, token=customer_token), "contract-b@example.com", company(piva_b))
    # And one a short payment flagged for review.
    flagged = check_out(api, customer_token, cart_with_fe(api, token=customer_token), "contract-b@example.com", company(piva_b))
    pay(api, flagged, amount="1.00", outcome="flagged_for_review")

    # Another customer's FE, whose credentials the operator may reissue
    # (reissuing the first one's would end the panel session above).
    other_token = customer(api, piva_c)
    other = check_out(api, other_token, cart_with_fe(api, token=other_token), "contract-c@example.com")
    pay(api, other)
    reissuable = fulfilled_service(api, other_token, other)

    # An anonymous cart with its token, and one to check out.
    anonymous = cart_with_fe(api)
    to_check_out = cart_with_fe(api)

    operator = api.call(
        "POST", "/v1/backoffice/login",
        {"username": os.environ["CONTRACT_OPERATOR"], "password": os.environ["CONTRACT_OPERATOR_PASSWORD"]},
        expect=200,
    )["access_token"]

    bearer = {
        "customer_area": {"Authorization": f"Bearer {customer_token}"},
        "panel": {"Authorization": f"Bearer {panel_token}"},
        "backoffice": {"Authorization": f"Bearer {operator}"},
    }
    # Real values for the path (and declared header) parameters of secured
    # operations, by operation id.
    parameters = {
        "getCart": {"path.id": anonymous[0]},
        "addCartItem": {"path.id": anonymous[0]},
        "removeCartItem": {"path.id": anonymous[0], "path.item_id": anonymous[2]},
        "checkout": {"path.id": to_check_out[0], "header.X-Cart-Token": to_check_out[1]},
        "getOrder": {"path.id": cancellable["id"]},
        "cancelOrder": {"path.id": cancellable["id"]},
        "registerPayment": {"path.id": payable["id"]},
        "getService": {"path.id": service_id},
        "buyServiceAddon": {"path.id": service_id},
        "reissueCredentials": {"path.id": reissuable},
        "backofficeRetryFulfilment": {"path.id": flagged["id"]},
        "backofficeClearReview": {"path.id": flagged["id"]},
        "getContact": {"path.id": kept_contact},
        "updateContact": {"path.id": kept_contact},
        "deleteContact": {"path.id": deleted_contact},
        "getInvoice": {"path.id": imported_invoice},
        "getInvoiceFile": {"path.id": imported_invoice},
        # `n` is left to schemathesis: a configured value would replace the
        # out-of-range numbers it sends to see them refused (404).
        "getInvoiceAttachment": {"path.id": imported_invoice},
    }
    cart_token = {"X-Cart-Token": anonymous[1]}

    schema = api.call("GET", "/openapi.json", expect=200)
    sections = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            security = [scheme for requirement in operation.get("security", []) for scheme in requirement]
            if not security:
                continue
            op_id = operation["operationId"]
            headers: dict[str, str] = {}
            # Alternatives (a cart token or a customer's bearer): the
            # first listed is the one exercised.
            scheme = security[0]
            if scheme == "cart_token":
                headers.update(cart_token)
            elif scheme in bearer:
                headers.update(bearer[scheme])
            else:
                sys.exit(f"setup.py: {op_id} names the security scheme {scheme!r}, unknown here")
            wanted = {
                f"{p['in']}.{p['name']}"
                for p in operation.get("parameters", [])
                if p["in"] == "path" and p["schema"].get("format") == "uuid"
            }
            given = parameters.get(op_id, {})
            missing = wanted - set(given)
            if missing:
                sys.exit(f"setup.py: {method.upper()} {path} ({op_id}) needs real values for {sorted(missing)}: add them to `parameters`")
            lines = ["[[operations]]", f"include-operation-id = {toml_string(op_id)}"]
            lines.append("headers = { " + ", ".join(f"{toml_string(k)} = {toml_string(v)}" for k, v in headers.items()) + " }")
            if given:
                lines.append("parameters = { " + ", ".join(f"{toml_string(k)} = {toml_string(v)}" for k, v in given.items()) + " }")
            sections.append("\n".join(lines))

    text = pathlib.Path(static_config).read_text()
    text += "\n# Generated by tests/contract/setup.py: credentials and ids per secured operation.\n\n"
    text += "\n\n".join(sections) + "\n"
    pathlib.Path(output).write_text(text)
    print(f"setup.py: {len(sections)} secured operations get credentials", file=sys.stderr)


if __name__ == "__main__":
    main()
