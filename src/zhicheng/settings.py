"""One settings class; every field is read from an environment variable ZHICHENG_<NAME>."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_SECRET = "demo-secret-not-for-production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZHICHENG_", extra="ignore")

    env: str = Field("demo", description="demo, test or production; production refuses demo secrets")
    database_url: str = Field("sqlite:///var/zhicheng.db", description="SQLAlchemy URL; sqlite or postgresql")
    secret_key: str = Field(
        DEMO_SECRET,
        description="HMAC-SM3 key for stored session ids and token secrets; changing it ends them all",
    )
    session_hours: int = Field(12, description="console session lifetime")
    login_max_failures: int = Field(5, description="failed logins per user name before throttling")
    login_window_minutes: int = Field(15, description="window in which failed logins are counted")
    embedded_worker: bool = Field(True, description="run the worker loop inside `serve`")
    max_request_mb: int = Field(
        64, description="largest request body any route accepts, MB (uploads have their own, smaller limits)"
    )
    otel: bool = Field(False, description="let FastAPI emit OpenTelemetry spans, metrics and logs")
    worker_poll_seconds: float = Field(0.5, description="how often an idle worker looks for due work")
    job_lease_seconds: int = Field(
        300, description="how long a claimed job is held before others may retry it"
    )
    job_modules: str = Field(
        "", description="extra modules whose job handlers workers import, comma separated"
    )
    audit_seal_batch: int = Field(5000, description="audit records chained per sealing transaction")
    realname_provider: str = Field("demo", description="real-name verification backend: demo")
    node_modules: Path = Field(Path("node_modules"), description="where npm installed the front-end packages")
    masking_profiles: str = Field(
        "",
        description="custom masking profiles as JSON: name → {base, rules} (docs/masking.md)",
    )
    exchange_max_rows: int = Field(1000, description="most rows one exchange call may ask for (limit)")
    exchange_rate_per_minute: int = Field(
        600, description="exchange calls per minute per grant, unless the grant says"
    )
    exchange_open_rate_per_minute: int = Field(
        60, description="anonymous open-data calls per minute per address"
    )
    approvals_warn_days: int = Field(2, description="working days before a limit when a case turns yellow")
    approvals_max_upload_mb: int = Field(20, description="largest file an applicant may upload, MB")
    approvals_rectification_days: int = Field(15, ge=1, description="working days to rectify a bad rating")
    cityops_duplicate_radius_m: float = Field(
        50, description="reports of one category within this many metres of an open case merge into it"
    )
    cityops_duplicate_hours: float = Field(24, description="... if it was reported within these hours")
    cityops_photo_max_mb: float = Field(10, description="largest case photo, MB")
    cityops_warn_days: int = Field(1, description="working days before a due date when a case turns yellow")
    cityops_dashboard_refresh_s: int = Field(
        30, ge=2, description="seconds between the city dashboard's automatic refreshes"
    )
    cityops_sensor_batch_max: int = Field(10000, ge=1, description="most sensor readings in one batch")
    cityops_mqtt_url: str = Field(
        "mqtt://127.0.0.1:1883", description="MQTT broker of the sensors (mqtt:// or mqtts://, user:pass@)"
    )
    cityops_mqtt_topic: str = Field(
        "zhicheng/sensors/+/readings", description="MQTT topic filter; the + is the sensor code"
    )
    cityops_mqtt_client_id: str = Field(
        "zhicheng-cityops", description="MQTT client id of the subscriber's persistent session"
    )
    cityops_detection_min_confidence: float = Field(
        0.6, ge=0, le=1, description="drone / video detections below this confidence are refused"
    )
    certificate_sm2_private_key: str = Field(
        "", description="SM2 private key (64 hex) that signs certificates; empty: generated, kept sealed"
    )
    certificate_verify_base_url: str = Field(
        "", description="public base URL of certificate QR codes; empty: the request's address"
    )
    notify_max_attempts: int = Field(8, description="delivery attempts before a message is dead-lettered")
    notify_retry_seconds: int = Field(30, description="wait after a first failure; doubles, at most 1 h")
    notify_sms_sender: str = Field("log", description="SMS sender: log (demo) or a registered gateway")
    notify_email_sender: str = Field("log", description="e-mail sender: log (demo) or a registered gateway")
    notify_webhook_timeout_seconds: float = Field(10, description="webhook answer timeout, seconds")
    notify_webhook_secret: str = Field("", description="HMAC-SM3 key signing webhooks; empty: unsigned")
    cookie_secure: bool = Field(False, description="mark cookies Secure (set true behind HTTPS)")

    @model_validator(mode="after")
    def _refuse_demo_secret(self) -> Settings:
        if self.env not in ("demo", "test") and self.secret_key == DEMO_SECRET:
            raise ValueError("ZHICHENG_SECRET_KEY must be set outside demo and test / 生产环境必须设置密钥")
        return self

    @cached_property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load() -> Settings:
    return Settings()
