"""The vocabulary every layer shares: what the models write (insights, analyses, answers), the profile, the status
words rows carry, and the users' languages. It imports nothing else of Jiwa but itself."""
