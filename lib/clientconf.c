/* lib/clientconf.c — client options read from an agent config file, for embedding programs.
 *
 * A program that links the library instead of running cluebus-agent is configured by the
 * same file as the unit's agent, through the public API only (it cannot see lib/config.h).
 * Invariant: the options' strings point into the same allocation, so they live exactly as
 * long as the cb_client_config_t. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluebus/client.h"
#include "config.h"

struct cb_client_config {
	agent_config_t		agent;
	cb_client_options_t	opt;
	const char		*old_keys[CONFIG_MAX_OLD_SEAL_KEYS];
};

int
cb_client_config_load(const char *path, cb_client_config_t **out, char *errbuf, size_t errlen)
{
	cb_client_config_t *cfg;
	char scratch[1];
	int rc;

	if (errbuf == NULL || errlen == 0) {
		errbuf = scratch;
		errlen = sizeof(scratch);
	}
	errbuf[0] = '\0';
	if (path == NULL || out == NULL)
		return CB_EINVAL;
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
		return CB_ENOMEM;
	if ((rc = config_agent_load(path, &cfg->agent, errbuf, errlen)) != 0) {
		free(cfg);
		return rc;
	}
	cfg->opt.unit = cfg->agent.unit;
	cfg->opt.key_path = cfg->agent.key_path;
	cfg->opt.transport_key_path = cfg->agent.transport_key_path;
	cfg->opt.broker = cfg->agent.broker;
	cfg->opt.state_dir = cfg->agent.state_dir;
	cfg->opt.registry_path = cfg->agent.registry_path[0] != '\0' ?
	    cfg->agent.registry_path : NULL;
	cfg->opt.resend_ms = cfg->agent.resend_ms;
	cfg->opt.heartbeat_ms = cfg->agent.heartbeat_ms;
	cfg->opt.window = cfg->agent.window;
	cfg->opt.resign_after_ms = cfg->agent.resign_after_ms;
	cfg->opt.correlation_key_path = cfg->agent.correlation_key_path[0] != '\0' ?
	    cfg->agent.correlation_key_path : NULL;
	cfg->opt.correlation_key_previous_path =
	    cfg->agent.correlation_key_previous_path[0] != '\0' ?
	    cfg->agent.correlation_key_previous_path : NULL;
	cfg->opt.seal_key_path = cfg->agent.seal_key_path[0] != '\0' ?
	    cfg->agent.seal_key_path : NULL;
	cfg->opt.seal_keys_path = cfg->agent.seal_keys_path[0] != '\0' ?
	    cfg->agent.seal_keys_path : NULL;
	cfg->opt.seal_routing_path = cfg->agent.seal_routing_path[0] != '\0' ?
	    cfg->agent.seal_routing_path : NULL;
	for (size_t i = 0; i < cfg->agent.n_seal_old_keys; i++)
		cfg->old_keys[i] = cfg->agent.seal_old_keys[i];
	cfg->opt.seal_old_key_paths = cfg->old_keys;
	cfg->opt.n_seal_old_keys = cfg->agent.n_seal_old_keys;
	*out = cfg;
	return 0;
}

const cb_client_options_t *
cb_client_config_options(const cb_client_config_t *cfg)
{
	return &cfg->opt;
}

void
cb_client_config_free(cb_client_config_t *cfg)
{
	free(cfg);
}
