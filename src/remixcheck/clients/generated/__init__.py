"""Code generated from OpenAI's document; see README.md for the command."""
