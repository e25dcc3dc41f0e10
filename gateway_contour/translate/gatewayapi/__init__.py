"""translate/gatewayapi"""
