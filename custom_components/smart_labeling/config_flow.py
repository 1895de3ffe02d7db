"""Config flow to add a Smart Labeling node to Home Assistant."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import (
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_HOST, CONF_PORT, CONF_TOKEN
from homeassistant.core import callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
import voluptuous as vol

from .api import (
    NodeInfo,
    SmartLabelingAuthError,
    SmartLabelingClient,
    SmartLabelingConnectionError,
    SmartLabelingError,
)
from .const import (
    CONF_CONFIDENCE_THRESHOLD,
    CONF_DEBOUNCE,
    DEFAULT_CONFIDENCE_THRESHOLD,
    DEFAULT_DEBOUNCE,
    DEFAULT_PORT,
    DOMAIN,
    ENTITY_OPTIONS,
    LOGGER,
    MIN_API_VERSION,
)
from .coordinator import SmartLabelingConfigEntry, entity_options

TOKEN_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
PORT_SELECTOR = NumberSelector(
    NumberSelectorConfig(min=1, max=65535, mode=NumberSelectorMode.BOX)
)


async def _async_check_node(
    client: SmartLabelingClient, errors: dict[str, str]
) -> NodeInfo | None:
    """Test the connection and the token; fill `errors` when they fail."""
    try:
        info = await client.info()
        await client.state()
    except SmartLabelingAuthError:
        errors[CONF_TOKEN] = "invalid_auth"
    except SmartLabelingConnectionError:
        errors["base"] = "cannot_connect"
    except SmartLabelingError:
        errors["base"] = "not_a_node"
    except Exception:  # noqa: BLE001
        LOGGER.exception("Unexpected exception")
        errors["base"] = "unknown"
    else:
        if info.api_version >= MIN_API_VERSION:
            return info
        errors["base"] = "unsupported_api_version"
    return None


class SmartLabelingConfigFlow(ConfigFlow, domain=DOMAIN):
    """Handle a config flow for Smart Labeling nodes."""

    VERSION = 1

    _host: str
    _port: int
    _name: str

    @staticmethod
    @callback
    def async_get_options_flow(
        config_entry: SmartLabelingConfigEntry,
    ) -> SmartLabelingOptionsFlow:
        """Return the options flow."""
        return SmartLabelingOptionsFlow()

    def _client(self, host: str, port: int, token: str | None) -> SmartLabelingClient:
        return SmartLabelingClient(
            host, port, token, session=async_get_clientsession(self.hass)
        )

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Handle a node the user types in."""
        errors: dict[str, str] = {}

        if user_input is not None:
            host = user_input[CONF_HOST].strip()
            port = int(user_input[CONF_PORT])
            token = user_input[CONF_TOKEN].strip()
            info = await _async_check_node(self._client(host, port, token), errors)
            if info is not None:
                await self.async_set_unique_id(info.node_id, raise_on_progress=False)
                self._abort_if_unique_id_configured()
                return self.async_create_entry(
                    title=info.name,
                    data={CONF_HOST: host, CONF_PORT: port, CONF_TOKEN: token},
                )
        else:
            user_input = {}

        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema(
                {
                    vol.Required(
                        CONF_HOST, default=user_input.get(CONF_HOST, vol.UNDEFINED)
                    ): TextSelector(TextSelectorConfig(autocomplete="off")),
                    vol.Required(
                        CONF_PORT, default=user_input.get(CONF_PORT, DEFAULT_PORT)
                    ): PORT_SELECTOR,
                    vol.Required(CONF_TOKEN): TOKEN_SELECTOR,
                }
            ),
            errors=errors,
        )

    async def async_step_zeroconf(
        self, discovery_info: ZeroconfServiceInfo
    ) -> ConfigFlowResult:
        """Handle a node announced on the network."""
        node_id = discovery_info.properties.get("node_id")
        if not node_id:
            return self.async_abort(reason="no_node_id")

        await self.async_set_unique_id(node_id)
        self._abort_if_unique_id_configured(
            updates={CONF_HOST: discovery_info.host, CONF_PORT: discovery_info.port}
        )

        try:
            api_version = int(discovery_info.properties.get("api_version", 0))
        except ValueError:
            api_version = 0
        if api_version < MIN_API_VERSION:
            return self.async_abort(reason="unsupported_api_version")

        self._host = discovery_info.host
        self._port = discovery_info.port or DEFAULT_PORT
        self._name = discovery_info.name.removesuffix(f".{discovery_info.type}")
        self.context["title_placeholders"] = {"name": self._name}
        self.context["configuration_url"] = str(
            self._client(self._host, self._port, None).url.with_path("/api/info")
        )
        return await self.async_step_zeroconf_confirm()

    async def async_step_zeroconf_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the token of a discovered node."""
        errors: dict[str, str] = {}

        if user_input is not None:
            token = user_input[CONF_TOKEN].strip()
            client = self._client(self._host, self._port, token)
            info = await _async_check_node(client, errors)
            if info is not None:
                return self.async_create_entry(
                    title=info.name,
                    data={
                        CONF_HOST: self._host,
                        CONF_PORT: self._port,
                        CONF_TOKEN: token,
                    },
                )

        return self.async_show_form(
            step_id="zeroconf_confirm",
            data_schema=vol.Schema({vol.Required(CONF_TOKEN): TOKEN_SELECTOR}),
            description_placeholders={
                "name": self._name,
                "host": self._host,
                "port": str(self._port),
            },
            errors=errors,
        )

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Handle a token the node rejected."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the node's new token."""
        errors: dict[str, str] = {}
        reauth_entry = self._get_reauth_entry()

        if user_input is not None:
            token = user_input[CONF_TOKEN].strip()
            client = self._client(
                reauth_entry.data[CONF_HOST], reauth_entry.data[CONF_PORT], token
            )
            info = await _async_check_node(client, errors)
            if info is not None:
                await self.async_set_unique_id(info.node_id)
                self._abort_if_unique_id_mismatch(reason="wrong_device")
                return self.async_update_reload_and_abort(
                    reauth_entry, data_updates={CONF_TOKEN: token}
                )

        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema({vol.Required(CONF_TOKEN): TOKEN_SELECTOR}),
            description_placeholders={"name": reauth_entry.title},
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the address or the token of a node."""
        errors: dict[str, str] = {}
        reconfigure_entry = self._get_reconfigure_entry()
        values: Mapping[str, Any] = reconfigure_entry.data

        if user_input is not None:
            values = user_input
            host = user_input[CONF_HOST].strip()
            port = int(user_input[CONF_PORT])
            token = (
                user_input.get(CONF_TOKEN) or reconfigure_entry.data[CONF_TOKEN]
            ).strip()
            info = await _async_check_node(self._client(host, port, token), errors)
            if info is not None:
                await self.async_set_unique_id(info.node_id)
                self._abort_if_unique_id_mismatch(reason="wrong_device")
                return self.async_update_reload_and_abort(
                    reconfigure_entry,
                    data_updates={CONF_HOST: host, CONF_PORT: port, CONF_TOKEN: token},
                )

        return self.async_show_form(
            step_id="reconfigure",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_HOST, default=values[CONF_HOST]): TextSelector(
                        TextSelectorConfig(autocomplete="off")
                    ),
                    vol.Required(CONF_PORT, default=values[CONF_PORT]): PORT_SELECTOR,
                    vol.Optional(CONF_TOKEN): TOKEN_SELECTOR,
                }
            ),
            errors=errors,
        )


class SmartLabelingOptionsFlow(OptionsFlow):
    """Change how the node labels and which optional entities exist."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show and apply the options."""
        errors: dict[str, str] = {}
        entry = self.config_entry

        if user_input is not None:
            client = SmartLabelingClient(
                entry.data[CONF_HOST],
                entry.data[CONF_PORT],
                entry.data[CONF_TOKEN],
                session=async_get_clientsession(self.hass),
            )
            try:
                await client.update_settings(
                    confidence_threshold=float(user_input[CONF_CONFIDENCE_THRESHOLD]),
                    debounce=int(user_input[CONF_DEBOUNCE]),
                )
            except SmartLabelingAuthError:
                errors["base"] = "invalid_auth"
            except SmartLabelingConnectionError:
                errors["base"] = "cannot_connect"
            except SmartLabelingError:
                errors["base"] = "settings_rejected"
            except Exception:  # noqa: BLE001
                LOGGER.exception("Unexpected exception")
                errors["base"] = "unknown"
            else:
                return self.async_create_entry(
                    data={
                        **user_input,
                        CONF_DEBOUNCE: int(user_input[CONF_DEBOUNCE]),
                    }
                )

        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(
                    {
                        vol.Required(CONF_CONFIDENCE_THRESHOLD): NumberSelector(
                            NumberSelectorConfig(
                                min=0, max=1, step=0.01, mode=NumberSelectorMode.SLIDER
                            )
                        ),
                        vol.Required(CONF_DEBOUNCE): NumberSelector(
                            NumberSelectorConfig(
                                min=1, max=50, step=1, mode=NumberSelectorMode.BOX
                            )
                        ),
                        **{
                            vol.Required(option): BooleanSelector()
                            for option in ENTITY_OPTIONS
                        },
                    }
                ),
                user_input or self._current_options(),
            ),
            errors=errors,
        )

    def _current_options(self) -> dict[str, Any]:
        """Return the node's settings if it is loaded, else the stored options."""
        entry: SmartLabelingConfigEntry = self.config_entry
        threshold = entry.options.get(
            CONF_CONFIDENCE_THRESHOLD, DEFAULT_CONFIDENCE_THRESHOLD
        )
        debounce = entry.options.get(CONF_DEBOUNCE, DEFAULT_DEBOUNCE)
        runtime = getattr(entry, "runtime_data", None)
        if runtime is not None and runtime.coordinator.data is not None:
            settings = runtime.coordinator.data.info.settings
            threshold = settings.confidence_threshold
            debounce = settings.debounce
        return {
            CONF_CONFIDENCE_THRESHOLD: threshold,
            CONF_DEBOUNCE: debounce,
            **entity_options(entry),
        }
