"""Games first: the rules that decide when a GPU's node steps aside, and the controller that applies them."""
