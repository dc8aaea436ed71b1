"""What travels between a device and the fleet over MQTT, defined once for both sides: topic names (topics.py),
payload encoding (codec.py) and the command signature (signing.py). The agent (agent/mqtt/) and the fleet (fleet/)
import these; nothing here imports either of them, so the two sides cannot drift apart or depend on each other."""
