"""The `consent:` section of the config."""

from pydantic import BaseModel, ConfigDict


class ConsentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    honour_gpc: bool = True
    opt_out_regime: bool = False
