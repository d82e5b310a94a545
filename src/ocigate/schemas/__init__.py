"""What the gateway accepts: request shapes checked before anything is sent upstream."""
