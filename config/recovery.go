package config

import "time"

// Recovery configures revenue recovery beyond each profile's own settings.
type Recovery struct {
	// CardUpdateResumeWithin: a recovery that ended hard_declined, exhausted
	// or network_limited resumes on the customer's card update for this long
	// after it ended (ORDERFLOW_RECOVERY_CARD_UPDATE_RESUME_WITHIN).
	CardUpdateResumeWithin time.Duration `yaml:"card_update_resume_within" env:"CARD_UPDATE_RESUME_WITHIN"`
}

// DefaultRecovery resumes recoveries closed up to 30 days before a card update.
func DefaultRecovery() Recovery {
	return Recovery{CardUpdateResumeWithin: 30 * 24 * time.Hour}
}

func (r Recovery) validate(bad func(key, msg string)) {
	positive(bad, "recovery.card_update_resume_within", r.CardUpdateResumeWithin)
}
