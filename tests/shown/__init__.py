"""What the model shows people: sizes in words, and the live fleet stream's frames (their clock,
their busiest links), each checked against the engine's own figures."""
