"""Comments to vectors: encoders and their registry, the embedding cache, measured speeds, user profiles, the
projection to a clustering space and a map."""
