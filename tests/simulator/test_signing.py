"""The simulator's signing code reproduces the vectors of messenger-apis.md section 7."""

import hashlib

import jwt
import pytest

from simulator import signing


def test_viber_sdk_vector():
    body = b'{"event":"webhook","timestamp":4977069964384421269,"message_token":1478683725125}'
    assert (
        signing.viber_signature(auth_token="44dafb7e0f40021e-61a47a1e6778d187-f2c5a676a07050b3", body=body)
        == "d21b343448c8aee33b8e93768ef6ceb64a6ba6163099973a2b8bd028fea510ef"
    )


def test_line_sdk_vector():
    assert (
        signing.line_signature(channel_secret="channel_secret", body=b"bodybodybodybody")
        == "/gg9a+LvFevTH1sd7XCQycD7tsWclCsInj7MhBHxN7k="
    )


def test_messenger_vector():
    assert (
        signing.facebook_signature(app_secret="test_app_secret_key", body=b'{"object":"page","entry":[]}')
        == "sha256=0cd827e6460b86fe5000b22caf1c5ffa24837ef9702ad29f764134462f21396c"
    )


def test_vonage_sdk_jwt_vector_verifies_with_pyjwt():
    token = (
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJPbmxpbmUgSldUIEJ1aWxkZXIiLCJpYXQiOjE2OTc2MzQ2ODAsImV4cCI6"
        "MzMyNTQ1NDA4MjgsImF1ZCI6IiIsInN1YiI6IiJ9.88vJc3I2HhuqEDixHXVhc9R30tA6U_HQHZTC29y6CGM"
    )
    claims = jwt.decode(token, "qwertyuiopasdfghjklzxcvbnm123456", algorithms=["HS256"], options={"verify_aud": False})
    assert claims["iss"] == "Online JWT Builder" and "payload_hash" not in claims
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "another-secret-of-32-characters!!", algorithms=["HS256"], options={"verify_aud": False})


def test_vonage_callback_jwt_carries_the_body_hash():
    body = b'{"channel":"sms","text":"Hello"}'
    token = signing.vonage_jwt(
        signature_secret="sig-secret-of-at-least-thirty-two-bytes",
        body=body,
        api_key="abcd1234",
        application_id="app-1",
    )
    claims = jwt.decode(token, "sig-secret-of-at-least-thirty-two-bytes", algorithms=["HS256"])
    assert claims["payload_hash"] == hashlib.sha256(body).hexdigest()
    assert claims["api_key"] == "abcd1234" and claims["application_id"] == "app-1"
    assert isinstance(claims["iat"], int) and claims["jti"]
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_vonage_sms_signature_vectors():
    assert (
        signing.vonage_sms_signature(
            params={"param": "value", "timestamp": "1234567890"}, signature_secret="signature_secret"
        )
        == "655a4d0b7f064dff438defc52b012cf5"
    )
    assert (
        signing.vonage_sms_signature(
            params={"param1": "value1", "param2": "value2", "timestamp": "1234567890"},
            signature_secret="signature_secret",
            method="sha256",
        )
        == "280c4320703dbc98bfa22db676655ed2acfbfe8792b062ff7622e67f1183c287"
    )
