"""The `scrub:` section of the config."""

from pydantic import BaseModel, ConfigDict, Field


class ScrubSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    drop_keys: list[str] = Field(default_factory=list)
    keep_keys: list[str] = Field(default_factory=list)
