# Rasa 3.6 NLU server: install, train, serve, stop.
# Included by the main Makefile (`include nlu/rasa/rasa.mk`, paths relative to the repo root);
# also usable alone from the repo root: make -f nlu/rasa/rasa.mk rasa-install rasa-train rasa-serve
# Rasa 3.6 needs Python 3.10, so it lives in its own venv and Sheli calls it over HTTP
# (nlu/rasa_backend.py). Tests marked `rasa` need the server: rasa-install rasa-train rasa-serve,
# then pytest, then rasa-stop. Every variable below can be set on the command line.

RASA_PORT ?= 5005
RASA_HOST ?= 127.0.0.1
RASA_VENV ?= .rasa-venv
RASA_DATA ?= nlu/data/nlu.yml
# Messages labelled in Sheli's review queue (`sheli nlu export $(RASA_EXTRA_DATA)`): trained on
# beside RASA_DATA when the file exists. Rasa merges every YAML file of the directory it is given.
RASA_EXTRA_DATA ?= var/nlu/labelled.yml
# What `rasa-retrain` runs first to write RASA_EXTRA_DATA from the review queue (the configured
# database); empty skips it. Without Sheli's venv there is nothing to run.
RASA_EXPORT ?= $(if $(wildcard .venv/bin/sheli),.venv/bin/sheli nlu export $(RASA_EXTRA_DATA))
RASA_USERDICT ?= nlu/data/jieba_userdict.txt
RASA_CONFIG ?= nlu/rasa/config.yml
RASA_MODELS ?= nlu/rasa/models
RASA_MODEL_NAME ?= sheli-nlu
RASA_STATE ?= nlu/rasa/.rasa
RASA_START_TIMEOUT ?= 120
# The interpreter: pyenv's 3.10 if there is one, else python3.10 on PATH.
RASA_PYTHON ?= $(or $(lastword $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.10.*/bin/python3.10)),$(shell command -v python3.10 2>/dev/null),python3.10)

RASA_BIN := $(RASA_VENV)/bin/rasa
RASA_STAMP := $(RASA_VENV)/.installed-rasa
RASA_MODEL := $(RASA_MODELS)/$(RASA_MODEL_NAME).tar.gz
# JiebaTokenizer reads every file in a DIRECTORY, so the user dictionary is copied into one.
RASA_JIEBA_DIR := $(RASA_STATE)/jieba
RASA_DATA_DIR := $(RASA_STATE)/data
RASA_PID := $(RASA_STATE)/server-$(RASA_PORT).pid
RASA_LOG := $(RASA_STATE)/server-$(RASA_PORT).log
RASA_URL := http://$(RASA_HOST):$(RASA_PORT)

# No telemetry (no network here), quiet TensorFlow, two cores.
RASA_ENV := RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 \
	TF_INTER_OP_PARALLELISM_THREADS=2 TF_INTRA_OP_PARALLELISM_THREADS=2 OMP_NUM_THREADS=2 \
	RASA_CACHE_DIRECTORY=$(RASA_STATE)/cache SQLALCHEMY_SILENCE_UBER_WARNING=1 \
	PYTHONWARNINGS=ignore::DeprecationWarning

# Stop the server named in the pid file: TERM, up to 15 s to finish, then KILL.
RASA_STOP_SH = if [ -f $(RASA_PID) ]; then \
		pid=$$(cat $(RASA_PID)); \
		if kill $$pid 2>/dev/null; then \
			for i in $$(seq 1 30); do kill -0 $$pid 2>/dev/null || break; sleep 0.5; done; \
			if kill -0 $$pid 2>/dev/null; then kill -9 $$pid; fi; \
			echo "rasa-stop: stopped pid $$pid"; \
		else echo "rasa-stop: pid $$pid was not running"; fi; \
		rm -f $(RASA_PID); \
	else echo "rasa-stop: not running (no $(RASA_PID))"; fi

.PHONY: rasa-install rasa-train rasa-retrain rasa-serve rasa-stop rasa-status rasa-clean

rasa-install: $(RASA_STAMP)

$(RASA_STAMP): nlu/rasa/requirements.txt nlu/rasa/constraints.txt
	@test -x "$(RASA_PYTHON)" || command -v "$(RASA_PYTHON)" >/dev/null || \
		{ echo "rasa-install: Python 3.10 not found (set RASA_PYTHON=/path/to/python3.10)"; exit 1; }
	test -x $(RASA_VENV)/bin/python || $(RASA_PYTHON) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/python -m pip install --quiet "pip<24.1" wheel
	$(RASA_VENV)/bin/python -m pip install --quiet -r nlu/rasa/requirements.txt \
		-c nlu/rasa/constraints.txt
	$(RASA_ENV) $(RASA_BIN) --version
	touch $@

rasa-train: $(RASA_MODEL)

$(RASA_MODEL): $(RASA_DATA) $(wildcard $(RASA_EXTRA_DATA)) $(RASA_CONFIG) \
		$(wildcard $(RASA_USERDICT)) | $(RASA_STAMP)
	rm -rf $(RASA_JIEBA_DIR) $(RASA_DATA_DIR) $(RASA_STATE)/cache .rasa/cache
	mkdir -p $(RASA_JIEBA_DIR) $(RASA_DATA_DIR) $(RASA_MODELS)
	if [ -f "$(RASA_USERDICT)" ]; then cp "$(RASA_USERDICT)" $(RASA_JIEBA_DIR)/userdict.txt; fi
	cp "$(RASA_DATA)" $(RASA_DATA_DIR)/nlu.yml
	if [ -f "$(RASA_EXTRA_DATA)" ] && grep -q '^- intent:' "$(RASA_EXTRA_DATA)"; then \
		cp "$(RASA_EXTRA_DATA)" $(RASA_DATA_DIR)/labelled.yml; fi
	$(RASA_ENV) $(RASA_BIN) train nlu --config $(RASA_CONFIG) \
		--nlu $(RASA_DATA_DIR) --out $(RASA_MODELS) --fixed-model-name $(RASA_MODEL_NAME)
	touch $@

# Train even if nothing changed (e.g. to time it, or after new labels): the review queue's labels
# are exported to RASA_EXTRA_DATA first (RASA_EXPORT), then trained on beside RASA_DATA.
rasa-retrain: | $(RASA_STAMP)
	$(RASA_EXPORT)
	rm -f $(RASA_MODEL)
	$(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) rasa-train

rasa-serve: $(RASA_MODEL)
	@mkdir -p $(RASA_STATE)
	@if [ -f $(RASA_PID) ] && kill -0 $$(cat $(RASA_PID)) 2>/dev/null; then \
		if [ $(RASA_MODEL) -nt $(RASA_PID) ]; then \
			echo "rasa-serve: the model is newer than the server, restarting"; \
			$(RASA_STOP_SH); \
		else echo "rasa-serve: already running (pid $$(cat $(RASA_PID))) on $(RASA_URL)"; exit 0; fi; \
	fi; \
	if curl -fsS -o /dev/null $(RASA_URL)/ 2>/dev/null; then \
		echo "rasa-serve: something else already answers on $(RASA_URL) (set RASA_PORT)"; exit 1; fi; \
	start=$$(date +%s); \
	$(RASA_ENV) nohup $(RASA_BIN) run --enable-api -m $(RASA_MODEL) --port $(RASA_PORT) \
		-i $(RASA_HOST) > $(RASA_LOG) 2>&1 & echo $$! > $(RASA_PID); \
	while :; do \
		if curl -fsS $(RASA_URL)/status 2>/dev/null | grep -q '"model_id": *"[^"]'; then \
			echo "rasa-serve: up on $(RASA_URL) (pid $$(cat $(RASA_PID)), $$(( $$(date +%s) - start ))s)"; \
			exit 0; fi; \
		if ! kill -0 $$(cat $(RASA_PID)) 2>/dev/null; then \
			echo "rasa-serve: server died, see $(RASA_LOG)"; tail -n 30 $(RASA_LOG); \
			rm -f $(RASA_PID); exit 1; fi; \
		if [ $$(( $$(date +%s) - start )) -ge $(RASA_START_TIMEOUT) ]; then \
			echo "rasa-serve: no model loaded after $(RASA_START_TIMEOUT)s, see $(RASA_LOG)"; \
			tail -n 30 $(RASA_LOG); $(RASA_STOP_SH); exit 1; fi; \
		sleep 1; \
	done

rasa-stop:
	@$(RASA_STOP_SH)

rasa-status:
	@curl -fsS $(RASA_URL)/status && echo || { echo "rasa-status: nothing on $(RASA_URL)"; exit 1; }

rasa-clean: rasa-stop
	rm -rf $(RASA_MODELS) $(RASA_STATE)
