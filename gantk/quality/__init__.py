"""How good generated data is: fidelity, privacy and utility of tables; a classifier's reading
and a Fréchet distance for images."""
